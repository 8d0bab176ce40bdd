// The last line against a blank screen: a rendering error shows in words, with a way back.

import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('TrendKe Live: the page failed', error, info.componentStack);
  }

  render(): ReactNode {
    if (!this.state.error) return this.props.children;
    return (
      <main className="page center">
        <div className="card">
          <p className="alert" role="alert">
            Something went wrong on this page: {this.state.error.message}
          </p>
          <button type="button" className="primary" onClick={() => window.location.assign('/')}>
            Back to the lobby
          </button>
        </div>
      </main>
    );
  }
}
