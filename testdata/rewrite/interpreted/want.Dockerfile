FROM python:3.12@sha256:0000000000000000000000000000000000000000000000000000dc74ac132d9a
RUN apt-get update && apt-get install --no-install-recommends -y gcc && rm -rf /var/lib/apt/lists/*
COPY app.py /app/app.py
ENTRYPOINT ["python3", "/app/app.py"]
RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} + || true
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group
USER 65532:65532
