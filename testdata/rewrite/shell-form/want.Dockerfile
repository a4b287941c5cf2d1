FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
ENV GREETING=hello
ENTRYPOINT ["/bin/sh", "-c", "/usr/bin/env"]
CMD ["/bin/sh", "-c", "echo \"$GREETING\" &&     sleep 1"]
HEALTHCHECK CMD curl -f http://localhost/ || exit 1
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
