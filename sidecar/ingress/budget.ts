// The ingress's budget of request-body bytes, decided on a request's headers before its body is
// read: bytes reserved by requests in progress, per gateway and per VPN, so a VPN that fills its
// share cannot take the rest from the others (docs/architecture.md, "Security model"). Pure
// accounting, in the memory a body holds (common/malloc.ts); the ingress answers a refusal with
// 503 `overloaded`.
import { idleKeepingCounts } from "../../common/idle-keeping-map.ts";
import { payloadBytes } from "../../common/malloc.ts";

export interface BodyBudgetOptions {
  /** Bytes all requests in progress may reserve together (--max-inflight-bytes). */
  readonly maxBytes: number;
  /** Bytes the requests of one VPN may reserve together (--max-inflight-bytes-per-vpn). */
  readonly maxBytesPerVpn: number;
}

/** Which budget a refused reservation would have exceeded (the refusal metric's `reason`). */
export type BudgetRefusal = "vpn_bytes" | "gateway_bytes";

export interface BodyReservation {
  /** Lowers the reservation to what a body of `bytes` (what it turned out to have) holds (never raises it). */
  settle(bytes: number): void;
  /** Gives the bytes back; later calls do nothing. */
  release(): void;
}

export interface BodyBudget {
  /** Reserves what a body of `bytes` holds for `vpn`, or names the budget it would exceed (the VPN's share first). */
  reserve(vpn: string, bytes: number): BodyReservation | BudgetRefusal;
  /** Bytes reserved now, in total. */
  held(): number;
  /** Bytes reserved now by `vpn`'s requests. */
  heldBy(vpn: string): number;
}

/** One request's reservation: an object with its methods on the class, not two closures per request. */
class Reservation implements BodyReservation {
  private readonly give: (vpn: string, bytes: number) => void;
  private readonly vpn: string;
  private held: number;

  constructor(give: (vpn: string, bytes: number) => void, vpn: string, bytes: number) {
    this.give = give;
    this.vpn = vpn;
    this.held = bytes;
  }

  settle(actual: number): void {
    const excess = this.held - payloadBytes(Math.max(0, actual));
    if (excess <= 0) return;
    this.give(this.vpn, excess);
    this.held -= excess;
  }

  release(): void {
    this.give(this.vpn, this.held);
    this.held = 0;
  }
}

/** Creates an empty budget. */
export const createBodyBudget = ({ maxBytes, maxBytesPerVpn }: BodyBudgetOptions): BodyBudget => {
  let total = 0;
  // Kept at zero, not deleted: a delete per request on a long-lived Map is old-generation garbage.
  const perVpn = idleKeepingCounts<string>();
  const give = (vpn: string, bytes: number): void => {
    if (bytes === 0) return;
    total -= bytes;
    const left = (perVpn.get(vpn) ?? 0) - bytes;
    perVpn.set(vpn, Math.max(0, left));
  };
  return {
    reserve: (vpn, bodyBytes) => {
      const bytes = payloadBytes(bodyBytes);
      const mine = perVpn.get(vpn) ?? 0;
      if (mine + bytes > maxBytesPerVpn) return "vpn_bytes";
      if (total + bytes > maxBytes) return "gateway_bytes";
      total += bytes;
      perVpn.set(vpn, mine + bytes);
      return new Reservation(give, vpn, bytes);
    },
    held: () => total,
    heldBy: (vpn) => perVpn.get(vpn) ?? 0,
  };
};
