"""Tests of what ships beside the package: action.yml, the GitLab component, packaging, the test command."""
