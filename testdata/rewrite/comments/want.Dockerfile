# Build the web server.
#   (indented comment lines stay as they are)
FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1

# tools
RUN apt-get update && \
    # comment inside a continuation
    apt-get install --no-install-recommends -y curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY   ./static   /srv/static   
# imgharden:ignore=IH3003 the tarball must be unpacked by hand later
ADD app.bin /srv/app

EXPOSE 8080
CMD ["/srv/app", "--listen", ":8080"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
# trailing comment
