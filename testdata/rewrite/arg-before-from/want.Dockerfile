ARG BASE=debian:bookworm
ARG VERSION=1.0
FROM ${BASE}
ARG VERSION
LABEL version=${VERSION}
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sleep", "infinity"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
