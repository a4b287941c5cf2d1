FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
RUN apt-get update; apt-get -y -q install --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
RUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install --no-install-recommends -y wget
RUN apt-get install -y -o APT::Install-Recommends=false jq
RUN apt update && apt install --no-install-recommends -y git \
      make \
      && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/bin/true"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
