"""S3 for Pomona in Python: Arrow's S3 filesystem (pyarrow.fs.S3FileSystem, the same Arrow C++ code
the pomona command uses) configured from the command's options, listing with the command's rules,
and one-line errors for what stops a job (missing bucket, bad credentials, denied access).

Credentials are found the AWS way: with `profile`, that profile of the shared credentials file
(AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials); otherwise the AWS SDK's default chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], AWS_PROFILE, the instance role).
The endpoint is `endpoint` or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (MinIO, Ceph, ...).
"""
from __future__ import annotations

import configparser
import dataclasses
import fnmatch
import os
import re
import uuid
from typing import List, Optional, Tuple

import pyarrow.fs

__all__ = ["S3Options", "S3Error", "is_s3", "split_uri", "parse_globs", "list_images",
           "check_readable", "check_writable"]

_SCHEME = re.compile(r"^s3[an]?://", re.IGNORECASE)


class S3Error(Exception):
    """What stops a job on S3 (bucket missing, credentials refused, access denied), as one line
    that names the bucket and says what to do."""


def is_s3(uri: str) -> bool:
    """Whether uri is an S3 URI (s3://, or Hadoop's s3a:// and s3n://)."""
    return bool(_SCHEME.match(uri))


def split_uri(uri: str) -> Tuple[str, str]:
    """(scheme://, bucket/key path without trailing '/') of an S3 URI."""
    scheme = _SCHEME.match(uri).group(0)
    return scheme, uri[len(scheme):].rstrip("/")


def _endpoint_parts(endpoint: str) -> Tuple[str, str]:
    """(scheme, host[:port]) of an endpoint URL; https when it names no scheme."""
    match = re.match(r"^(https?)://(.*?)/*$", endpoint)
    return (match.group(1), match.group(2)) if match else ("https", endpoint.rstrip("/"))


def _profile_settings(profile: str) -> dict:
    """The profile's keys from the shared credentials file and its region from the config file."""
    credentials_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE",
                                      os.path.expanduser("~/.aws/credentials"))
    config_file = os.environ.get("AWS_CONFIG_FILE", os.path.expanduser("~/.aws/config"))
    credentials, config = configparser.ConfigParser(), configparser.ConfigParser()
    credentials.read(credentials_file)
    config.read(config_file)
    if not credentials.has_section(profile):
        raise S3Error(f"AWS profile '{profile}' is not in {credentials_file}: add it there, or "
                      "name another with --s3-profile")
    section = credentials[profile]
    if "aws_access_key_id" not in section or "aws_secret_access_key" not in section:
        raise S3Error(f"AWS profile '{profile}' in {credentials_file} lacks aws_access_key_id or "
                      "aws_secret_access_key")
    config_section = "default" if profile == "default" else f"profile {profile}"
    region = (config.get(config_section, "region", fallback=None)
              or section.get("region"))
    return {"access_key": section["aws_access_key_id"],
            "secret_key": section["aws_secret_access_key"],
            "session_token": section.get("aws_session_token"), "region": region}


@dataclasses.dataclass(frozen=True)
class S3Options:
    """The pomona command's S3 options (--s3-endpoint, --s3-region, --s3-profile,
    --s3-anonymous, --s3-retries, --s3-connect-timeout, --s3-request-timeout). Picklable:
    Spark ships it to the executors, and each builds its filesystem from its own environment."""
    endpoint: Optional[str] = None
    region: Optional[str] = None
    profile: Optional[str] = None
    anonymous: bool = False
    retries: int = 10  # after the first attempt, with the SDK's exponential backoff
    connect_timeout_s: float = 5.0
    request_timeout_s: float = 30.0

    def filesystem(self, bucket: Optional[str] = None) -> pyarrow.fs.S3FileSystem:
        """An S3FileSystem with these options. bucket: where to look up the region when neither
        the options, the environment, the profile nor an endpoint give one."""
        settings = {}
        region = self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if self.anonymous:
            settings["anonymous"] = True
        elif self.profile:
            profile = _profile_settings(self.profile)
            profile_region = profile.pop("region")
            region = region or profile_region
            settings.update(profile)
        endpoint = (self.endpoint or os.environ.get("AWS_ENDPOINT_URL_S3")
                    or os.environ.get("AWS_ENDPOINT_URL"))
        if endpoint:
            settings["scheme"], settings["endpoint_override"] = _endpoint_parts(endpoint)
            region = region or "us-east-1"  # S3-compatible stores mostly ignore it
        elif not region and bucket:
            try:
                region = pyarrow.fs.resolve_s3_region(bucket)
            except OSError:
                region = None  # the request itself will say what is wrong with the bucket
        return pyarrow.fs.S3FileSystem(
            region=region, connect_timeout=self.connect_timeout_s,
            request_timeout=self.request_timeout_s,
            retry_strategy=pyarrow.fs.AwsStandardS3RetryStrategy(max_attempts=self.retries + 1),
            **settings)


_filesystems: dict = {}


def filesystem_for(uri: str, options: Optional[S3Options]) -> Tuple[pyarrow.fs.FileSystem, str]:
    """(filesystem, path in it) of an S3 URI, the filesystem built once per process, options,
    bucket and AWS environment (which the SDK reads when it is built)."""
    _, path = split_uri(uri)
    options = options or S3Options()
    bucket = path.split("/", 1)[0]
    environment = tuple(sorted(item for item in os.environ.items() if item[0].startswith("AWS_")))
    key = (options, bucket, environment)
    if key not in _filesystems:
        _filesystems[key] = options.filesystem(bucket)
    return _filesystems[key], path


# The AWS error names Arrow puts in its messages, and what the user should do about each.
_HINTS = (
    ("NO_SUCH_BUCKET", "bucket '{bucket}' does not exist: check the name, --s3-endpoint and "
                       "--s3-region"),
    ("INVALID_ACCESS_KEY_ID", "the credentials were refused (unknown access key): check "
                              "AWS_ACCESS_KEY_ID or --s3-profile"),
    ("SIGNATURE_DOES_NOT_MATCH", "the credentials were refused (bad secret key): check "
                                 "AWS_SECRET_ACCESS_KEY or --s3-profile"),
    ("INVALID_CLIENT_TOKEN_ID", "the credentials were refused: check AWS_ACCESS_KEY_ID or "
                                "--s3-profile"),
    ("EXPIRED_TOKEN", "the credentials have expired: renew them"),
    ("ACCESS_DENIED", "access to bucket '{bucket}' is denied for these credentials: grant them "
                      "{permission} or use others (--s3-profile)"),
    ("NETWORK_CONNECTION", "cannot connect to the S3 endpoint: check --s3-endpoint / "
                           "AWS_ENDPOINT_URL and the network"),
)


def _explain(error: OSError, what: str, uri: str, permission: str) -> S3Error:
    """One line for an Arrow S3 error: what failed, on which URI, why, and what to do."""
    text = str(error)
    bucket = split_uri(uri)[1].split("/", 1)[0]
    for code, hint in _HINTS:
        # Arrow names the error (AWS Error ACCESS_DENIED) or, for some, only the HTTP status.
        if code in text or (code == "ACCESS_DENIED" and "HTTP response code: 403" in text):
            advice = hint.format(bucket=bucket, permission=permission)
            return S3Error(f"cannot {what} {uri}: {advice}")
    return S3Error(f"cannot {what} {uri}: {' '.join(text.split())}")


def parse_globs(globs: str) -> List[str]:
    """The command's --glob: comma-separated file-name patterns."""
    return [glob.strip().lower() for glob in globs.split(",") if glob.strip()]


def _is_image(relative: str, globs: List[str]) -> bool:
    """The command's listing rules: no part of the path starts with "." or "_" (Spark's hidden
    files: _SUCCESS, _temporary, .part-x.crc), and the name matches a glob, ignoring case."""
    parts = relative.split("/")
    return (not any(part.startswith((".", "_")) for part in parts)
            and any(fnmatch.fnmatchcase(parts[-1].lower(), glob) for glob in globs))


def list_images(uri: str, globs: str, options: Optional[S3Options] = None
                ) -> List[Tuple[str, int]]:
    """(URI, size) of the objects under the S3 prefix uri (or of the one object uri) whose names
    match globs, in byte-wise order of their URIs, as the command lists. Raises S3Error when the
    prefix cannot be listed or holds nothing."""
    filesystem, root = filesystem_for(uri, options)
    scheme = split_uri(uri)[0]
    try:
        info = filesystem.get_file_info(root)
        if info.type == pyarrow.fs.FileType.File:
            return [(scheme + root, info.size)]
        if info.type == pyarrow.fs.FileType.NotFound:
            raise S3Error(f"cannot list {uri}: no object has this prefix")
        entries = filesystem.get_file_info(pyarrow.fs.FileSelector(root, recursive=True))
    except OSError as error:
        raise _explain(error, "list", uri, "s3:ListBucket and s3:GetObject") from None
    patterns = parse_globs(globs)
    found = [(scheme + entry.path, entry.size) for entry in entries
             if entry.type == pyarrow.fs.FileType.File
             and _is_image(entry.path[len(root) + 1:], patterns)]
    return sorted(found, key=lambda item: item[0].encode())


def check_readable(uri: str, options: Optional[S3Options] = None) -> None:
    """Raises S3Error unless uri's bucket exists and these credentials may list it."""
    filesystem, root = filesystem_for(uri, options)
    bucket = root.split("/", 1)[0]
    try:
        filesystem.get_file_info(pyarrow.fs.FileSelector(bucket, recursive=False,
                                                         allow_not_found=False))
    except OSError as error:
        raise _explain(error, "read", uri, "s3:ListBucket and s3:GetObject") from None


def check_writable(uri: str, options: Optional[S3Options] = None) -> None:
    """Raises S3Error unless an object can be written (and deleted) under uri: puts and deletes
    uri/_pomona_write_probe-<random>, a name every reader skips. (Arrow may leave uri/ itself as
    an empty folder marker.)"""
    filesystem, root = filesystem_for(uri, options)
    probe = f"{root}/_pomona_write_probe-{uuid.uuid4().hex}"
    try:
        with filesystem.open_output_stream(probe) as stream:
            stream.write(b"pomona write probe")
        filesystem.delete_file(probe)
    except OSError as error:
        raise _explain(error, "write to", uri, "s3:PutObject and s3:DeleteObject") from None
