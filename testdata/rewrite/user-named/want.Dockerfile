FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
RUN useradd --uid 1001 app
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
USER app
ENTRYPOINT ["/bin/sleep", "60"]
