# Sourced by .ci/run and ./payments: exports JAVA_HOME and PATH for the newest installed JDK, which must
# be 21 or newer (machines may default to an older java while carrying a newer JDK beside it).
java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}

use_newest_jdk() {
  local best_home="" best_major=0 home major
  local candidates=()
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for home in /usr/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
              /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -x "$home/bin/javac" ] && candidates+=("$home")
  done
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || continue
    major=$(java_major "$home" || echo 0)
    if [ "${major:-0}" -gt "$best_major" ]; then best_major=$major; best_home=$home; fi
  done
  if [ "$best_major" -lt 21 ]; then
    echo "a JDK 21 or newer is needed; found none (newest: ${best_major})" >&2
    return 1
  fi
  export JAVA_HOME="$best_home"
  export PATH="$JAVA_HOME/bin:$PATH"
  JDK_MAJOR=$best_major
}
