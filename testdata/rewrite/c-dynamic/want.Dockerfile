FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1 AS builder
RUN apt-get update && apt-get install --no-install-recommends -y build-essential libcurl4-openssl-dev libcurl4 ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY hello.c .
RUN gcc -O2 -o hello hello.c -lcurl
CMD ["./hello"]

FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
RUN apt-get update && apt-get install -y --no-install-recommends libcurl4 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=builder /src/hello /src/hello
WORKDIR /src
CMD ["./hello"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
