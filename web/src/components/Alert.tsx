import type { ReactNode } from 'react';

/** A failure in words, announced to screen readers; nothing when there is none. */
export function Alert({ children, testId }: { children: ReactNode; testId?: string }) {
  if (children === null || children === undefined || children === false || children === '') return null;
  return (
    <p className="alert" role="alert" data-testid={testId}>
      {children}
    </p>
  );
}
