// One way for a panel to run what a click asks of the API: busy while it runs (buttons disable),
// its refusal in words afterwards (cleared when the next one starts).

import { useCallback, useState } from 'react';
import { describe } from './api';

export function useAction(): {
  busy: boolean;
  error: string | null;
  run: (what: () => Promise<unknown>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run };
}
