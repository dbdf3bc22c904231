// __NAME__: a Portcullis access-request policy in JavaScript (ABI v2 component).
//
// Approves a request that carries a `ticket` annotation; leaves any other to a human.
// Build with ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.

export const describe = {
  get() {
    return { name: "__NAME__", version: "0.1.0", functions: [], capabilities: [] };
  },
};

export const accessRequest = {
  decide(input) {
    const ticket = input.request.annotations.find((a) => a.name === "ticket")?.values[0];
    if (ticket) {
      return { verdict: "approve", reason: "the request carries a ticket", annotations: [], suggestedReviewers: [] };
    }
    return { verdict: "pending", reason: "no ticket: a human must review", annotations: [], suggestedReviewers: [] };
  },
};
