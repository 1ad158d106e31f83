"""describe_s3_error: what boto3 raises, in words a user can act on (used by couriers too)."""

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from credentials.errors import describe_s3_error


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "x"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    "exc, code, transient, words",
    [
        (client_error("NoSuchKey", 404), "missing_file", False, "Missing file: “a/b.csv”"),
        (client_error("404", 404, "HeadObject"), "missing_file", False, "Missing file"),
        (client_error("NoSuchBucket", 404), "no_such_bucket", False, "No such bucket"),
        (client_error("InvalidBucketName", 400), "invalid_bucket_name", False, "Invalid bucket"),
        (
            client_error("InvalidAccessKeyId", 403),
            "invalid_credentials",
            False,
            "Invalid credentials",
        ),
        (client_error("AccessDenied", 403), "access_denied", False, "Access denied to “a/b.csv”"),
        (client_error("SlowDown", 503), "throttled", True, "throttling"),
        (client_error("InternalError", 500), "server_error", True, "internal error"),
        (
            client_error("AccessDenied", 403, "AssumeRole"),
            "role_not_assumed",
            False,
            "cannot be assumed",
        ),
        (
            EndpointConnectionError(endpoint_url="http://x"),
            "endpoint_unreachable",
            False,
            "reached",
        ),
        (ConnectTimeoutError(endpoint_url="http://x"), "timeout", True, "too long"),
        (ReadTimeoutError(endpoint_url="http://x"), "timeout", True, "too long"),
        (NoCredentialsError(), "no_credentials", False, "No AWS credentials"),
    ],
)
def test_errors_are_described(exc, code, transient, words):
    problem = describe_s3_error(exc, bucket="heap-rs3-1", key="a/b.csv")
    assert (problem.code, problem.transient) == (code, transient)
    assert words in problem.message
    assert problem.suggestion or code in ("throttled",)


def test_a_missing_bucket_on_head_is_not_a_missing_file():
    problem = describe_s3_error(client_error("404", 404, "HeadBucket"), bucket="b")
    assert problem.code == "no_such_bucket"
