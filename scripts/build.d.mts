export function build(): Promise<void>;
export function withoutSourcesContent(code: string): string;
export function latin1Only(code: string): string;
