// The node's network: a Linux bridge of its own whose address is the node IP, a pod range that
// exists only on this machine, the CNI configuration that puts each pod on that bridge, and a
// guard table so that forwarded traffic never leaves the bridge (pods reach each other, the
// host and Services, nothing else).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NODE_IP, POD_CIDR } from "../addresses.ts";
import { run } from "../proc.ts";

export const BRIDGE = "sbnode0";
/** The nft table (family inet) holding the forward guard. */
export const GUARD_TABLE = "switchboard-node";
export const CNI_NETWORK = "switchboard-node";

/** Creates the bridge with the node IP and routes the Service range to it (no traffic to it leaves the machine). Throws ip's error. */
export const createBridge = async (serviceCidr: string): Promise<void> => {
  await run("ip", ["link", "add", BRIDGE, "type", "bridge"]);
  await run("ip", ["addr", "add", `${NODE_IP}/24`, "dev", BRIDGE]);
  await run("ip", ["link", "set", BRIDGE, "up"]);
  await run("ip", ["route", "add", serviceCidr, "dev", BRIDGE, "src", NODE_IP]);
};

/** Installs the forward guard: packets may be forwarded only from the bridge to the bridge. */
export const installGuard = async (): Promise<void> => {
  const rules = `table inet ${GUARD_TABLE} {
  chain forward {
    type filter hook forward priority -10; policy accept;
    iifname "${BRIDGE}" oifname != "${BRIDGE}" drop
    oifname "${BRIDGE}" iifname != "${BRIDGE}" drop
  }
}
`;
  await run("nft", ["-f", "-"], { input: rules });
};

/** Writes the CNI network configuration into `confDir`; IPAM state stays under `dataDir`. */
export const writeCniConfig = (confDir: string, dataDir: string): void => {
  mkdirSync(confDir, { recursive: true });
  const conf = {
    cniVersion: "0.4.0",
    name: CNI_NETWORK,
    plugins: [
      {
        type: "bridge",
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: POD_CIDR, gateway: NODE_IP }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir,
        },
      },
    ],
  };
  writeFileSync(join(confDir, "10-switchboard-node.conflist"), `${JSON.stringify(conf, null, 2)}\n`);
};
