# imgharden: base image not pinned by digest; pin it with @sha256:...
FROM registry.invalid/team/base:1.0
RUN echo hi
ENTRYPOINT ["/bin/echo", "hi"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
