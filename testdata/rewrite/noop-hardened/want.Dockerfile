# Already hardened: nothing to change.
FROM debian:bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000001 AS build
RUN echo built > /artifact

FROM scratch
COPY --from=build /artifact /artifact
USER 65532:65532
ENTRYPOINT ["/artifact"]
