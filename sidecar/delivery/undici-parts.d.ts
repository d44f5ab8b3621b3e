// Types of the undici modules the delivery client imports by path (./undici-client.ts says why):
// each is the CommonJS export the package's index re-exports under the same name.
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";

  const AgentClass: typeof Agent;
  export = AgentClass;
}
declare module "undici/lib/core/connect.js" {
  import type { buildConnector } from "undici";

  const build: typeof buildConnector;
  export = build;
}
