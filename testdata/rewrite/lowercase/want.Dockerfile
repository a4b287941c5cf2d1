from debian:bookworm@sha256:000000000000000000000000000000000000000000000000000079991d7f40a1
run apt-get update && apt-get install --no-install-recommends -y curl && rm -rf /var/lib/apt/lists/*
copy conf /etc/app
cmd ["/bin/true"]
run find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
run echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
user 65532:65532
