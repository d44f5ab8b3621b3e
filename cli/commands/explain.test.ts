import assert from "node:assert/strict";
import { test } from "node:test";
import { CliError } from "../types.ts";
import { explainReport, explainText } from "./explain.ts";

const answer = {
  vpn: "shop",
  revision: 12,
  subscriptions: [
    {
      route: "k1",
      namespace: "s",
      name: "payments",
      mode: "async",
      matched: false,
      reason: "prefix type 'p.' did not match 'o.x'",
    },
    {
      route: "k2",
      namespace: "s",
      name: "audit",
      mode: "async",
      matched: true,
      reason: "prefix type 'o.' matched",
    },
  ],
};

test("the gateway's answer as a summary and a table, reached subscriptions first", () => {
  assert.equal(
    explainText(explainReport(answer), "event o.x (id 1)"),
    `event o.x (id 1) reaches 1 of 2 subscriptions of VPN shop (registry revision 12)
REACHES  SUBSCRIPTION  MODE   WHY
yes      s/audit       async  prefix type 'o.' matched
no       s/payments    async  prefix type 'p.' did not match 'o.x'
`,
  );
  assert.equal(
    explainText(explainReport({ vpn: "shop", revision: 3, subscriptions: [] }), "event"),
    "VPN shop has no subscriptions (registry revision 3)\n",
  );
  assert.throws(() => explainReport({ vpn: "shop" }), CliError);
});
