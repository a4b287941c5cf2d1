// Package publish pushes images to registries without ever overwriting a tag, and checks
// Amazon ECR destinations before anything is written: the repository must keep its tags
// immutable (ecs:R11) and encrypt images with a customer-managed KMS key (ecs:R14).
//
// The pieces, in the order a push uses them:
//
//   - ParseECRHost tells an ECR private registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com) from any
//     other registry.
//   - ECR.EnsureRepository describes (or, when asked, creates) the destination repository
//     through the narrow ECRAPI and KMSAPI interfaces and refuses one that breaks the policy
//     with a *RepositoryError (errors.Is ErrMutableRepository, ErrNoCMK or ErrKMSKeyMismatch).
//   - ECR.Authenticator hands go-containerregistry an authn.Authenticator backed by
//     GetAuthorizationToken, cached for the token's lifetime.
//   - Push resolves the destination tag first: absent, it uploads the blobs the registry lacks
//     (in parallel) and then puts the manifest; the same digest is a success with nothing
//     written; another digest is a *TagExistsError before any blob is uploaded. A registry's
//     own refusal to overwrite a tag (ECR's TAG_INVALID) is reported the same way.
//   - Attach stores files (the scan report, an SBOM) as OCI 1.1 referrer artifacts whose
//     subject is the pushed manifest; Referrers lists them. Registries without the referrers API
//     get the `sha256-<hex>` fallback tag, as go-containerregistry's remote package writes it.
//
// Credentials and registry tokens never appear in errors or log records.
package publish
