// approve-dba: the example access-request policy of Portcullis, in JavaScript (ABI v2).
//
// Built into a WebAssembly component with componentize-js (see build.sh) for the
// `access-request-policy` world of guest-sdk/wit/policy.wit. The decision is specified in
// policies/conformance/README.md:
//
//   - any requested role other than `dba`     -> deny
//   - no roles at all                         -> deny
//   - no non-empty `ticket` annotation        -> pending (a human reviews)
//   - outside Mon-Fri 08:00-18:00 UTC         -> pending (a human reviews)
//   - otherwise                               -> approve, annotated `approved-by: approve-dba`

import { nowMs } from "portcullis:policy/host@2.0.0";

export const describe = {
  get() {
    return {
      name: "approve-dba",
      version: "1.0.0",
      functions: [],
      capabilities: [{ tag: "time" }],
    };
  },
};

function decision(verdict, reason, annotations = []) {
  return { verdict, reason, annotations, suggestedReviewers: [] };
}

function workingHours(ms) {
  const days = ms / 86400000n;
  const weekday = (days + 4n) % 7n; // 0 = Sunday
  const hour = (ms / 3600000n) % 24n;
  return weekday >= 1n && weekday <= 5n && hour >= 8n && hour < 18n;
}

export const accessRequest = {
  decide(input) {
    const roles = input.request.roles;
    if (roles.length === 0) {
      return decision("deny", "no roles requested");
    }
    if (roles.some((role) => role !== "dba")) {
      return decision("deny", "only dba may be requested under this policy");
    }
    const ticket = input.request.annotations.find((a) => a.name === "ticket")?.values[0];
    if (!ticket) {
      return decision("pending", "no ticket annotation: a human must review");
    }
    if (!workingHours(nowMs())) {
      return decision("pending", "outside working hours: a human must review");
    }
    return decision("approve", `ticket ${ticket} during working hours`, [
      { name: "approved-by", values: ["approve-dba"] },
    ]);
  },
};
