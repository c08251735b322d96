"""The agreed figures the policy rules compare against, in one place (requirements SEC-04, SEC-05, FLUX-09).

Changing a figure here changes the rule; docs/check-rules.md says where each comes from. The memory limit is the
one figure that differs from the requirement (SEC-05 asked for 512Mi): the measurements in docs/runtime.md put it at
1Gi; change it here and in the HelmRelease together, with new evidence.
"""

from __future__ import annotations

from typing import Final

# SEC-04: the workspace volume. Its size (VOLSYNC_CAPACITY) and class (VOLSYNC_STORAGECLASS) are the workspace's
# settings (defaults 5Gi and ceph-block, any class giving ReadWriteOnce volumes): below the minimum size a clone with
# its sessions does not fit.
VOLUME_ACCESS_MODES: Final = ("ReadWriteOnce",)
VOLUME_SIZE: Final = "5Gi"
VOLUME_MIN_SIZE: Final = "1Gi"

# SEC-05: the OpenCode container, compared as quantities (0.1 == 100m, 0.5Gi == 512Mi).
RESOURCES: Final = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "1Gi"},
}

# FLUX-09: streamed answers and the terminal WebSocket. OpenCode needs well over 120 s per request; Envoy closes a
# stream idle for 5 minutes unless told otherwise.
MIN_REQUEST_TIMEOUT_SECONDS: Final = 120
ENVOY_DEFAULT_STREAM_IDLE_SECONDS: Final = 300

# Images whose tag must equal the OpenCode version ocw pins (tools/package.json).
OPENCODE_IMAGES: Final = ("ghcr.io/anomalyco/opencode", "ghcr.io/sst/opencode")
# The workspace image (containers/opencode-workspace/), under any registry and owner: its tag is the OpenCode
# version it installs, alone or followed by the build's short commit (`1.18.33` or `1.18.33-abc1234`).
WORKSPACE_IMAGE_NAME: Final = "opencode-workspace"

RELOADER_ANNOTATION: Final = "reloader.stakater.com/auto"
