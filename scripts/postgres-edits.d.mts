export declare const MARK: string
export declare const EDITS: readonly { why: string; from: string; to: string }[]
export declare function missingEdits(text: string): string[]
