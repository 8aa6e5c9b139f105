#!/usr/bin/env bash
# Print the path of the persistent working disk, creating it from the cached
# image if it is missing. Same as `images/image.sh disk`.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/image.sh" disk
