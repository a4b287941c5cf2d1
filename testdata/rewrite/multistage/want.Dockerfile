FROM golang:1.22@sha256:0000000000000000000000000000000000000000000000000000b0942b05b741 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/server ./cmd/server

FROM build AS imgharden-passwd
RUN echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >> /etc/passwd && echo 'nonroot:x:65532:' >> /etc/group

FROM scratch
COPY --from=build /out/server /server
ENTRYPOINT ["/server"]
COPY --from=imgharden-passwd /etc/passwd /etc/group /etc/
USER 65532:65532
