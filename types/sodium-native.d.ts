// Type declarations for the parts of sodium-native that Lifeboat uses (the package ships none).
declare module 'sodium-native' {
  export const crypto_onetimeauth_BYTES: number;
  export const crypto_onetimeauth_KEYBYTES: number;
  export function crypto_onetimeauth(output: Uint8Array, input: Uint8Array, key: Uint8Array): void;
  export function crypto_onetimeauth_verify(
    mac: Uint8Array,
    input: Uint8Array,
    key: Uint8Array,
  ): boolean;
}
