FROM debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000001
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
USER 10001:10001
ENTRYPOINT ["/bin/sleep", "60"]
