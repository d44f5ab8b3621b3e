import assert from "node:assert/strict";
import { test } from "node:test";
import { cidrContains, parseAddress, parseCidr } from "./address.ts";
import { createEgressPolicy, type EgressDecision, protectedEndpoint } from "./policy.ts";
import { EgressRuleError, parseEgressEntry, parseEgressList } from "./rules.ts";

const at = (address: string, port = 80, host = address) => ({ host, address, port });
const reasonOf = (d: EgressDecision): string => (d.allowed ? "allowed" : d.rule.reason);

test("addresses: IPv4, IPv6, and every spelling of IPv4-mapped IPv6 is the IPv4 address", () => {
  assert.deepEqual(parseAddress("127.0.0.1"), { family: 4, value: 0x7f000001n });
  for (const mapped of ["::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:7f00:0001", "::FFFF:127.0.0.1"])
    assert.deepEqual(parseAddress(mapped), { family: 4, value: 0x7f000001n }, mapped);
  assert.deepEqual(parseAddress("::1"), { family: 6, value: 1n });
  assert.deepEqual(parseAddress("fe80::1"), { family: 6, value: (0xfe80n << 112n) | 1n });
  for (const bad of ["localhost", "1.2.3", "256.1.1.1", "fe80::1%eth0", ""])
    assert.equal(parseAddress(bad), undefined, bad);
});

test("CIDRs: host bits cleared, a mapped range is the IPv4 range, containment by family", () => {
  assert.deepEqual(parseCidr("10.1.2.3/8"), { family: 4, base: 0x0a000000n, bits: 8 });
  assert.deepEqual(parseCidr("::ffff:169.254.0.0/112"), { family: 4, base: 0xa9fe0000n, bits: 16 });
  assert.deepEqual(parseCidr("fd00::1"), { family: 6, base: (0xfd00n << 112n) | 1n, bits: 128 });
  for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/x", "host/8"])
    assert.equal(parseCidr(bad), undefined, bad);
  const v4 = parseCidr("10.0.0.0/8");
  const addr = parseAddress("::ffff:10.9.9.9");
  assert.ok(v4 && addr && cidrContains(v4, addr));
});

test("entries: every form parses, and a bad one is refused with what the forms are", () => {
  assert.equal(parseEgressEntry(" 10.0.0.0/8 ").kind, "address");
  assert.deepEqual(
    { ...parseEgressEntry("127.0.0.1:2379"), cidr: undefined },
    { kind: "address", cidr: undefined, port: 2379, text: "127.0.0.1:2379" },
  );
  assert.equal(parseEgressEntry("[fd00::/8]:443").port, 443);
  assert.equal(parseEgressEntry("fd00::1").kind, "address");
  assert.deepEqual(parseEgressEntry("*.SVC.cluster.local"), {
    kind: "host",
    host: "svc.cluster.local",
    wildcard: true,
    text: "*.svc.cluster.local",
  });
  assert.deepEqual(parseEgressEntry("*:9090"), { kind: "any", port: 9090, text: "*:9090" });
  assert.equal(parseEgressList("127.0.0.1, ::1,,*.localhost").length, 3);
  for (const [bad, message] of [
    ["", /must not be empty/],
    ["10.0.0.0/40", /not a valid IP address or CIDR/],
    ["1.2.3.4:0", /port must be from 1 to 65535/],
    ["host:http", /port must be from 1 to 65535/],
    ["[10.0.0.1]:80", /not an IPv6 address/],
    ["exa mple.com", /must be an IP address or CIDR/],
    ["a.*.b", /must be an IP address or CIDR/],
  ] as const)
    assert.throws(
      () => parseEgressEntry(bad),
      (e) => e instanceof EgressRuleError && message.test(e.message),
      bad,
    );
});

test("the default deny list: every range, in IPv4, IPv6 and IPv4-mapped form", () => {
  const policy = createEgressPolicy();
  const denied: [string, string][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["0.0.0.0", "unspecified address"],
    ["::", "unspecified address"],
    ["::ffff:0.0.0.0", "unspecified address"],
    ["169.254.169.254", "link-local (cloud metadata at 169.254.169.254)"],
    ["169.254.1.1", "link-local (cloud metadata at 169.254.169.254)"],
    ["::ffff:169.254.169.254", "link-local (cloud metadata at 169.254.169.254)"],
    ["fe80::1", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fd00:ec2::254", "cloud metadata (IPv6)"],
  ];
  for (const [address, reason] of denied) assert.equal(reasonOf(policy.decide(at(address))), reason, address);
  for (const address of [
    "10.213.0.5",
    "192.168.1.1",
    "8.8.8.8",
    "fd00:ec2::253",
    "fec0::1",
    "2001:db8::1",
    "128.0.0.1",
  ])
    assert.deepEqual(policy.decide(at(address)), { allowed: true }, address);
});

test("the refusal message names the address, the host, what it is and the rule", () => {
  const d = createEgressPolicy().decide({ host: "localhost", address: "127.0.0.1", port: 8080 });
  assert.equal(d.allowed, false);
  assert.ok(!d.allowed);
  assert.equal(d.message, '127.0.0.1:8080 (localhost) is refused: loopback (egress rule "127.0.0.0/8")');
  const v6 = createEgressPolicy().decide(at("::1", 80));
  assert.ok(!v6.allowed);
  assert.match(v6.message, /^\[::1\]:80 is refused: loopback/);
});

test("an allow entry lifts a default range only when it names an address inside it", () => {
  const allow = (...entries: string[]) => createEgressPolicy({ allow: entries.map(parseEgressEntry) });
  assert.deepEqual(allow("127.0.0.1").decide(at("127.0.0.1", 3000)), { allowed: true });
  assert.deepEqual(allow("127.0.0.0/8").decide(at("::ffff:127.0.0.9")), { allowed: true });
  assert.equal(allow("127.0.0.1").decide(at("127.0.0.2")).allowed, false);
  assert.deepEqual(allow("127.0.0.1:3000").decide(at("127.0.0.1", 3000)), { allowed: true });
  assert.equal(allow("127.0.0.1:3000").decide(at("127.0.0.1", 3001)).allowed, false);
  // Wider than the range: not explicit.
  assert.equal(allow("0.0.0.0/0").decide(at("127.0.0.1")).allowed, false);
  assert.equal(allow("::/0").decide(at("::1")).allowed, false);
  assert.equal(allow("*").decide(at("169.254.169.254")).allowed, false);
  assert.equal(allow("*:80").decide(at("169.254.169.254")).allowed, false);
  // A host name never lifts a default range, whatever it resolves to.
  assert.equal(
    allow("localhost").decide({ host: "localhost", address: "127.0.0.1", port: 80 }).allowed,
    false,
  );
  assert.equal(
    allow("*.cluster.local").decide({ host: "meta.cluster.local", address: "169.254.169.254", port: 80 })
      .allowed,
    false,
  );
  assert.deepEqual(allow("169.254.169.254").decide(at("169.254.169.254")), { allowed: true });
  assert.deepEqual(allow("fe80::/64").decide(at("fe80::7")), { allowed: true });
});

test("protected endpoints: only a cluster-wide entry naming address and port lifts them, never a VPN's", () => {
  const protect = [
    protectedEndpoint("127.0.0.1", 2379, "the registry etcd"),
    protectedEndpoint("10.96.0.1", 443, "the Kubernetes API server"),
    protectedEndpoint("etcd.switchboard.svc", 2379, "the registry etcd"),
    protectedEndpoint("fd00::10", 9090, "this gateway's admin port"),
  ];
  const policy = (...allow: string[]) => createEgressPolicy({ protect, allow: allow.map(parseEgressEntry) });
  const etcd = at("127.0.0.1", 2379);
  assert.equal(reasonOf(policy().decide(etcd)), "the registry etcd");
  // The loopback allow of dev mode and tests does not reach etcd: the rule has a port.
  assert.equal(reasonOf(policy("127.0.0.1").decide(etcd)), "the registry etcd");
  assert.equal(reasonOf(policy("127.0.0.0/8").decide(etcd)), "the registry etcd");
  assert.deepEqual(policy("127.0.0.1").decide(at("127.0.0.1", 2380)), { allowed: true });
  assert.deepEqual(policy("127.0.0.1:2379").decide(etcd), { allowed: true });
  // A VPN's allow-list cannot lift a protected rule, even naming it exactly.
  const api = at("10.96.0.1", 443);
  assert.equal(
    reasonOf(policy().decide(api, [parseEgressEntry("10.96.0.1:443")])),
    "the Kubernetes API server",
  );
  assert.equal(reasonOf(policy().decide(api, [parseEgressEntry("10.0.0.0/8")])), "the Kubernetes API server");
  assert.deepEqual(policy().decide(at("10.96.0.1", 80)), { allowed: true });
  // A protected name is refused by name, whatever it resolves to, and by a cluster address entry lifted.
  const byName = { host: "etcd.switchboard.svc", address: "10.1.2.3", port: 2379 };
  assert.equal(reasonOf(policy().decide(byName)), "the registry etcd");
  assert.deepEqual(policy("10.1.2.3:2379").decide(byName), { allowed: true });
  assert.equal(reasonOf(policy("10.1.2.0/24:2379").decide(byName)), "the registry etcd");
  assert.equal(reasonOf(policy().decide(at("::ffff:127.0.0.1", 2379))), "the registry etcd");
  assert.equal(reasonOf(policy().decide(at("fd00::10", 9090))), "this gateway's admin port");
});

test("--egress-deny entries: lifted by a narrower address or by a matching host name, cluster-wide or per VPN", () => {
  const deny = ["*:9090", "10.100.0.0/16", "internal.example.com"].map(parseEgressEntry);
  const policy = createEgressPolicy({ deny });
  assert.equal(reasonOf(policy.decide(at("10.213.0.5", 9090))), "a denied destination (--egress-deny)");
  assert.equal(reasonOf(policy.decide(at("10.100.3.4", 80))), "a denied destination (--egress-deny)");
  assert.equal(
    reasonOf(policy.decide({ host: "internal.example.com", address: "8.8.8.8", port: 443 })),
    "a denied destination (--egress-deny)",
  );
  assert.deepEqual(policy.decide(at("10.213.0.5", 8080)), { allowed: true });
  const vpn = ["10.100.3.0/24", "*.fn.svc.cluster.local:9090"].map(parseEgressEntry);
  assert.deepEqual(policy.decide(at("10.100.3.4"), vpn), { allowed: true });
  assert.equal(policy.decide(at("10.100.4.4"), vpn).allowed, false);
  assert.deepEqual(
    policy.decide({ host: "a.fn.svc.cluster.local", address: "10.213.0.5", port: 9090 }, vpn),
    {
      allowed: true,
    },
  );
  // The port rule still applies: an allow without the port does not lift `*:9090`.
  assert.equal(policy.decide(at("10.213.0.5", 9090), [parseEgressEntry("10.213.0.5")]).allowed, false);
  assert.deepEqual(policy.decide(at("10.213.0.5", 9090), [parseEgressEntry("10.213.0.5:9090")]), {
    allowed: true,
  });
  // A VPN's allow-list lifts default ranges too, but only its own deliveries see it.
  assert.deepEqual(policy.decide(at("127.0.0.1", 3000), [parseEgressEntry("127.0.0.1")]), { allowed: true });
  assert.equal(policy.decide(at("127.0.0.1", 3000)).allowed, false);
});

test("an unknown address (name only, at reconcile time) matches host rules only", () => {
  const policy = createEgressPolicy({
    protect: [protectedEndpoint("etcd.switchboard.svc", 2379, "the registry etcd")],
  });
  assert.equal(
    reasonOf(policy.decide({ host: "etcd.switchboard.svc", address: undefined, port: 2379 })),
    "the registry etcd",
  );
  assert.deepEqual(policy.decide({ host: "fn.example.com", address: undefined, port: 80 }), {
    allowed: true,
  });
});
