FROM debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
RUN <<EOT
set -e
apt-get update
apt-get install --no-install-recommends -y nginx
EOT
COPY <<EOF /etc/motd
  ADD inside a heredoc is text, not an instruction
EOF
COPY <<-EOT /usr/local/bin/start
	#!/bin/sh
	exec nginx -g 'daemon off;'
	EOT
ENTRYPOINT ["/usr/local/bin/start"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
