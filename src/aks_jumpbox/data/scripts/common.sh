# ---- shared by provision.sh and validate.sh (data/scripts/common.sh, included when rendered) ----

# version_of REGEX: the first capture group of REGEX (POSIX ERE) in stdin, from its first match.
# An anchored REGEX (^...) matches at the start of a line, any other anywhere in it.
version_of() {
  local regex=$1
  case $regex in
    ^*) sed -nE "s|${regex}.*|\\1|p" | head -n 1 ;;
    *) sed -nE "s|.*${regex}.*|\\1|p" | head -n 1 ;;
  esac
}
