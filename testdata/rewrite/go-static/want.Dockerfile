FROM golang:1.22@sha256:0000000000000000000000000000000000000000000000000000b0942b05b741 AS builder
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /usr/local/bin/server ./cmd/server
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]

FROM builder AS imgharden-passwd
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group

FROM scratch
COPY --from=builder /usr/local/bin/server /usr/local/bin/server
WORKDIR /src
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/server"]
COPY --from=imgharden-passwd /etc/passwd /etc/group /etc/
USER 65532:65532
