"""What an image contains, for people and machines: software report, CycloneDX SBOM, diffs.

Pure: everything here is a function of the plan and, optionally, the build's log text.
"""
