# SPDX-License-Identifier: MIT
# bench/lib.sh - what the bench scripts share (sourced after each defines log and die).
# api uses URL and AUTH; new_meeting and new_audience_preset use KIT and APP.

# The value of KEY in a "key value" file (the load generator's --out).
get() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }
# The first "id" in a JSON text (the data object's own id in our replies).
first_id() { grep -o '"id":"[^"]*"' | head -n 1 | cut -d'"' -f4; }

api() { # METHOD PATH [BODY]
  curl -sS -X "$1" -H "Authorization: $AUTH" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$URL$2"
}

new_meeting() { # TITLE: a meeting whose session ends with its last peer; prints its id
  api POST "$KIT/$APP/meetings" "{\"title\":\"$1\",\"session_keep_alive_time_in_secs\":0}" |
    first_id
}

# The big meetings' peers see polls and vote but not the participant list: a roster sent to
# n peers costs n × changes (docs/design.md), which a large audience's preset leaves off, as
# webinar_viewer does (that one waits in the waiting room; this one joins at once). Creates
# the app's bench_audience preset (group_call_participant without the list), its body in DIR.
new_audience_preset() { # DIR
  local base
  base=$(api GET "$KIT/$APP/presets?search=group_call_participant" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () =>
      process.stdout.write(JSON.parse(s).data.find((p) => p.name === "group_call_participant").id))')
  api GET "$KIT/$APP/presets/$base" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const p = JSON.parse(s).data;
      p.permissions.show_participant_list = false;
      process.stdout.write(JSON.stringify({ name: "bench_audience", config: p.config,
                                            permissions: p.permissions, ui: p.ui }));
    })' >"$1/audience.json"
  api POST "$KIT/$APP/presets" "$(cat "$1/audience.json")" | grep -q '"success":true' ||
    die "could not create the bench_audience preset"
}
