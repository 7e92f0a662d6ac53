"""A shared second cache tier behind the local one, for CI fleets (as ccache's and sccache's remote storage).

A local miss asks the remote; a remote hit is verified (hash, size, kind) and
stored locally; a new build is uploaded. The remote mirrors the local layout:

    v1/objects/ab/<sha256>   blobs, named by the hash of their bytes
    v1/keys/ab/<key>         manifests: {"blob": sha256, "size": n, "kind": "pdf"}

under the URL's path (HTTP: GET/HEAD/PUT, e.g. nginx WebDAV) or the key prefix
`resumec/` (Redis). The remote never fails a build and never slows one by more
than one timeout: the first transport failure prints one warning and the run
goes on with the local cache only.

Nothing here is imported unless a remote is configured, and the `redis`
package only for a redis:// URL.
"""

from resumec.remote.core import (
    CONNECT_TIMEOUT,
    MAX_DOWNLOAD,
    READ_TIMEOUT,
    TRANSFER_DEADLINE,
    Remote,
    RemoteSpec,
    open_remote,
    parse_url,
    redact,
)
from resumec.remote.tiered import TieredCache

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_DOWNLOAD",
    "READ_TIMEOUT",
    "TRANSFER_DEADLINE",
    "Remote",
    "RemoteSpec",
    "TieredCache",
    "open_remote",
    "parse_url",
    "redact",
]
