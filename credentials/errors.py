"""Botocore errors in plain words.

`describe_s3_error` is the one place that turns what boto3 raises into something a user can
act on. The connection test, the S3 browser and courier runs all show its `message` (and
`suggestion`), and retry when `transient` is true. Messages are our own words: no raw
exception text that could carry a request signature or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore import exceptions as bce


@dataclass(frozen=True)
class S3Problem:
    code: str  # short and stable: tests and templates may compare it
    message: str
    suggestion: str = ""
    transient: bool = False

    def __str__(self) -> str:
        return f"{self.message} {self.suggestion}".strip()


# Codes, so callers need not repeat strings.
INVALID_CREDENTIALS = "invalid_credentials"
NO_CREDENTIALS = "no_credentials"
ACCESS_DENIED = "access_denied"
NO_SUCH_BUCKET = "no_such_bucket"
INVALID_BUCKET_NAME = "invalid_bucket_name"
MISSING_FILE = "missing_file"
ENDPOINT_UNREACHABLE = "endpoint_unreachable"
INVALID_ENDPOINT = "invalid_endpoint"
WRONG_REGION = "wrong_region"
ROLE_NOT_ASSUMED = "role_not_assumed"
THROTTLED = "throttled"
SERVER_ERROR = "server_error"
TIMEOUT = "timeout"
ADDRESS_NOT_ALLOWED = "address_not_allowed"
UNKNOWN = "unknown"


class EndpointNotAllowed(bce.BotoCoreError):
    """The endpoint's address is one the product must not connect to (amperity_sources.netguard).
    A botocore error, so every place that handles S3 failures handles this one too."""

    fmt = "{message}"


_INVALID_KEY_CODES = {"InvalidAccessKeyId", "InvalidClientTokenId", "UnrecognizedClientException"}
_BAD_SIGNATURE_CODES = {"SignatureDoesNotMatch", "IncompleteSignature", "AuthFailure"}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired"}
_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "SlowDown",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
}
_SERVER_CODES = {"InternalError", "ServiceUnavailable", "InternalFailure", "ServiceFailure"}
_STS_OPERATIONS = {"AssumeRole", "GetCallerIdentity"}


def _named(bucket: str | None) -> str:
    return f"“{bucket}”" if bucket else "the bucket"


def describe_s3_error(
    exc: BaseException, *, bucket: str | None = None, key: str | None = None
) -> S3Problem:
    """Classify an exception raised by boto3/botocore while talking to S3 or STS."""
    if isinstance(exc, bce.ClientError):
        return _describe_client_error(exc, bucket=bucket, key=key)
    if isinstance(exc, EndpointNotAllowed):
        return S3Problem(
            ADDRESS_NOT_ALLOWED,
            str(exc),
            "Use the storage service's public address, or ask an administrator to allow "
            "this network.",
        )
    if isinstance(exc, (bce.NoCredentialsError, bce.PartialCredentialsError)):
        return S3Problem(
            NO_CREDENTIALS,
            "No AWS credentials were found.",
            "Enter an access key ID and secret access key, or choose a base credential.",
        )
    if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return S3Problem(
            TIMEOUT,
            "The storage endpoint took too long to answer.",
            "This is usually temporary; try again in a minute.",
            transient=True,
        )
    if isinstance(exc, bce.EndpointConnectionError):
        return S3Problem(
            ENDPOINT_UNREACHABLE,
            "The storage endpoint could not be reached.",
            "Check the S3 endpoint URL and region, and that the service is running.",
        )
    if isinstance(exc, (bce.InvalidDNSNameError, bce.ParamValidationError)):
        if bucket is not None and "bucket" in str(exc).lower():
            return _invalid_bucket_name(bucket)
        return S3Problem(
            UNKNOWN, "The request was not valid.", "Check the bucket name, prefix and file name."
        )
    if isinstance(exc, ValueError) and "endpoint" in str(exc).lower():
        return S3Problem(
            INVALID_ENDPOINT,
            "The S3 endpoint URL is not valid.",
            "Use a full URL such as https://s3.example.com.",
        )
    if isinstance(exc, (bce.HTTPClientError, bce.ResponseStreamingError)):
        return S3Problem(
            SERVER_ERROR,
            "The connection to the storage endpoint broke off.",
            "This is usually temporary; try again.",
            transient=True,
        )
    if isinstance(exc, bce.BotoCoreError):
        return S3Problem(UNKNOWN, f"S3 request failed ({type(exc).__name__}).")
    return S3Problem(UNKNOWN, f"Unexpected error talking to S3 ({type(exc).__name__}).")


def _invalid_bucket_name(bucket: str | None) -> S3Problem:
    return S3Problem(
        INVALID_BUCKET_NAME,
        f"Invalid bucket name {_named(bucket)}.",
        "Bucket names use 3–63 lowercase letters, digits, dots and hyphens.",
    )


def _describe_client_error(
    exc: bce.ClientError, *, bucket: str | None, key: str | None
) -> S3Problem:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    operation = getattr(exc, "operation_name", "") or ""

    if operation in _STS_OPERATIONS and code not in _INVALID_KEY_CODES | _THROTTLE_CODES:
        return S3Problem(
            ROLE_NOT_ASSUMED,
            "The role cannot be assumed.",
            "Check the target role ARN, and that its trust policy allows the base credential "
            "with this external ID (the external ID must match exactly).",
        )
    if code in _INVALID_KEY_CODES:
        return S3Problem(
            INVALID_CREDENTIALS,
            "Invalid credentials: the access key ID is not known.",
            "Check the access key ID, or create a new access key.",
        )
    if code in _BAD_SIGNATURE_CODES:
        return S3Problem(
            INVALID_CREDENTIALS,
            "Invalid credentials: the secret access key does not match the access key ID.",
            "Re-enter the secret access key.",
        )
    if code in _EXPIRED_CODES:
        return S3Problem(
            INVALID_CREDENTIALS,
            "Invalid credentials: the temporary credentials have expired.",
            "Test the connection again to assume the role afresh.",
        )
    if code in {"NoSuchBucket"} or (code in {"404", "NotFound"} and not key):
        return S3Problem(
            NO_SUCH_BUCKET,
            f"No such bucket: {_named(bucket)} does not exist.",
            "Check the bucket name (and the region or endpoint it lives in).",
        )
    if code in {"NoSuchKey", "404", "NotFound"}:
        return S3Problem(
            MISSING_FILE,
            f"Missing file: “{key}” is not in {_named(bucket)}." if key else "Missing file.",
            "The file may have been moved or deleted; browse the bucket again.",
        )
    if code == "InvalidBucketName":
        return _invalid_bucket_name(bucket)
    if code in {"AccessDenied", "403", "Forbidden", "AllAccessDisabled", "AccountProblem"}:
        where = f"{_named(bucket)}" if bucket else "this resource"
        if key:
            where = f"“{key}” in {where}"
        return S3Problem(
            ACCESS_DENIED,
            f"Access denied to {where}.",
            "The credential is valid but its policy does not allow this; "
            "ask the bucket owner to grant s3:ListBucket and s3:GetObject.",
        )
    if code in {"PermanentRedirect", "AuthorizationHeaderMalformed"}:
        return S3Problem(
            WRONG_REGION,
            f"{_named(bucket).capitalize()} lives in another region.",
            "Set the credential's region to the bucket's region.",
        )
    if code in _THROTTLE_CODES or status == 429:
        return S3Problem(
            THROTTLED,
            "S3 is throttling requests.",
            "This is temporary; the run will retry.",
            transient=True,
        )
    if code in _SERVER_CODES or status >= 500:
        return S3Problem(
            SERVER_ERROR,
            f"The storage service had an internal error ({code or status}).",
            "This is usually temporary; try again.",
            transient=True,
        )
    if code in {"RequestTimeout", "RequestTimeTooSkewed"}:
        return S3Problem(
            TIMEOUT,
            "The request timed out." if code == "RequestTimeout" else "The clock is off.",
            "Try again." if code == "RequestTimeout" else "Check this machine's clock.",
            transient=code == "RequestTimeout",
        )
    return S3Problem(UNKNOWN, f"S3 refused the request ({code or status}).")
