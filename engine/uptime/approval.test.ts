import { describe, expect, it } from 'vitest';
import { approvalFromSpec, consumedApproval, explicitApproval, type Approval } from './approval.ts';

const apply = (s: Approval, spec: boolean): Approval => ({ ...s, ...approvalFromSpec(s, spec) });

describe('cutover approval', () => {
  it('takes spec.cutover.approved once, and records nothing while it stays the same', () => {
    expect(approvalFromSpec({}, true)).toEqual({ approved: true });
    expect(approvalFromSpec({ approved: true }, true)).toBeUndefined();
    expect(approvalFromSpec({}, false)).toBeUndefined();
  });

  it('after a failed cutover, a spec still saying true does not approve again', () => {
    const failed = apply({ approved: true }, true);
    const after = { ...failed, ...consumedApproval };
    expect(approvalFromSpec(after, true)).toBeUndefined();
  });

  it('false then true approves again', () => {
    const after = { ...consumedApproval };
    const off = apply(after, false);
    expect(off.approvalConsumed).toBe(false);
    expect(apply(off, true).approved).toBe(true);
  });

  it('ferry cutover approves whatever came before', () => {
    expect({ ...consumedApproval, ...explicitApproval }).toEqual({ approved: true, approvalConsumed: false });
  });

  it('an approval never taken back by the spec: once recorded, a spec set to false leaves it', () => {
    expect(approvalFromSpec({ approved: true }, false)).toBeUndefined();
  });
});
