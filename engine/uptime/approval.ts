// When a DowntimeOptimized cutover may start. Pure.
//
// An approval comes from `ferry cutover` or from spec.cutover.approved. A cutover that fails consumes
// it: the fence comes down, the replay goes on, and a spec that still says `approved: true` must not
// start the next attempt on its own (it would fail the same way, again and again, each time fencing
// the application out). The user approves again after the fix: `ferry cutover`, or
// spec.cutover.approved set to false and then to true.

export interface Approval {
  /** An approval waiting to be acted on. */
  approved?: boolean;
  /** A failed cutover used the last approval; spec.cutover.approved counts again once seen false. */
  approvalConsumed?: boolean;
}

/** The change to record, given what the spec (or manifest) says now; undefined when nothing changes. */
export function approvalFromSpec(state: Approval, specApproved: boolean): Approval | undefined {
  if (specApproved && !state.approved && !state.approvalConsumed) return { approved: true };
  if (!specApproved && state.approvalConsumed) return { approvalConsumed: false };
  return undefined;
}

/** `ferry cutover`: an explicit approval, also after a failed cutover. */
export const explicitApproval: Approval = { approved: true, approvalConsumed: false };

/** What a failed cutover records. */
export const consumedApproval: Approval = { approved: false, approvalConsumed: true };
