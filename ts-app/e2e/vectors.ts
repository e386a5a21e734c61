/**
 * Known-answer vectors for the crypto providers, shared by the node provider
 * test and the cryptodev one (in the guest).
 *
 * AES-CBC: NIST SP 800-38A, appendix F.2.1-F.2.6 (CBC-AES128/192/256,
 * encrypt and decrypt use the same key, IV, plaintext and ciphertext).
 * HMAC-SHA256: RFC 4231, test cases 1-7 (case 5's output is truncated to
 * 128 bits by the RFC; compare the prefix). AES-GCM: below.
 */
export interface CbcVector {
  name: string;
  key: string;
  iv: string;
  plaintext: string;
  ciphertext: string;
}

export interface HmacVector {
  name: string;
  key: string;
  data: string;
  /** Hex; when shorter than 64 digits, a prefix of the MAC (truncated output). */
  mac: string;
}

const spPlaintext =
  "6bc1bee22e409f96e93d7e117393172a" +
  "ae2d8a571e03ac9c9eb76fac45af8e51" +
  "30c81c46a35ce411e5fbc1191a0a52ef" +
  "f69f2445df4f9b17ad2b417be66c3710";
const spIv = "000102030405060708090a0b0c0d0e0f";

export const cbcVectors: CbcVector[] = [
  {
    name: "SP 800-38A F.2.1/F.2.2 CBC-AES128",
    key: "2b7e151628aed2a6abf7158809cf4f3c",
    iv: spIv,
    plaintext: spPlaintext,
    ciphertext:
      "7649abac8119b246cee98e9b12e9197d" +
      "5086cb9b507219ee95db113a917678b2" +
      "73bed6b8e3c1743b7116e69e22229516" +
      "3ff1caa1681fac09120eca307586e1a7",
  },
  {
    name: "SP 800-38A F.2.3/F.2.4 CBC-AES192",
    key: "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
    iv: spIv,
    plaintext: spPlaintext,
    ciphertext:
      "4f021db243bc633d7178183a9fa071e8" +
      "b4d9ada9ad7dedf4e5e738763f69145a" +
      "571b242012fb7ae07fa9baac3df102e0" +
      "08b0e27988598881d920a9e64f5615cd",
  },
  {
    name: "SP 800-38A F.2.5/F.2.6 CBC-AES256",
    key: "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
    iv: spIv,
    plaintext: spPlaintext,
    ciphertext:
      "f58c4c04d6e5f1ba779eabfb5f7bfbd6" +
      "9cfc4e967edb808d679f777bc6702c7d" +
      "39f23369a9d9bacfa530e26304231461" +
      "b2eb05e2c39be9fcda6c19078c6a9d1b",
  },
];

const hex = (s: string) => Buffer.from(s, "utf8").toString("hex");

export const hmacVectors: HmacVector[] = [
  {
    name: "RFC 4231 test case 1",
    key: "0b".repeat(20),
    data: hex("Hi There"),
    mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  },
  {
    name: "RFC 4231 test case 2",
    key: hex("Jefe"),
    data: hex("what do ya want for nothing?"),
    mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  },
  {
    name: "RFC 4231 test case 3",
    key: "aa".repeat(20),
    data: "dd".repeat(50),
    mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  },
  {
    name: "RFC 4231 test case 4",
    key: "0102030405060708090a0b0c0d0e0f10111213141516171819",
    data: "cd".repeat(50),
    mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
  },
  {
    name: "RFC 4231 test case 5 (truncated to 128 bits)",
    key: "0c".repeat(20),
    data: hex("Test With Truncation"),
    mac: "a3b6167473100ee06e0c796c2955552b",
  },
  {
    name: "RFC 4231 test case 6",
    key: "aa".repeat(131),
    data: hex("Test Using Larger Than Block-Size Key - Hash Key First"),
    mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  },
  {
    name: "RFC 4231 test case 7",
    key: "aa".repeat(131),
    data: hex(
      "This is a test using a larger than block-size key and a larger than block-size data. " +
        "The key needs to be hashed before being used by the HMAC algorithm.",
    ),
    mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  },
];

/**
 * AES-GCM, 12-byte IV and 16-byte tag: test cases 1-4 of McGrew and
 * Viega's GCM specification (the NIST submission; case 4 has AAD and a
 * plaintext that is not a block multiple). `sealed` is ciphertext || tag.
 */
export interface GcmVector {
  name: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  sealed: string;
}

const gcmKey = "feffe9928665731c6d6a8f9467308308";
const gcmIv = "cafebabefacedbaddecaf888";
const gcmPlaintext =
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const gcmCiphertext =
  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985";

export const gcmVectors: GcmVector[] = [
  {
    name: "GCM test case 1 (AES-128, nothing to encrypt: the tag alone)",
    key: "00000000000000000000000000000000",
    iv: "000000000000000000000000",
    aad: "",
    plaintext: "",
    sealed: "58e2fccefa7e3061367f1d57a4e7455a",
  },
  {
    name: "GCM test case 2 (AES-128, zero key, one block)",
    key: "00000000000000000000000000000000",
    iv: "000000000000000000000000",
    aad: "",
    plaintext: "00000000000000000000000000000000",
    sealed: "0388dace60b6a392f328c2b971b2fe78" + "ab6e47d42cec13bdf53a67b21257bddf",
  },
  {
    name: "GCM test case 3 (AES-128, four blocks)",
    key: gcmKey,
    iv: gcmIv,
    aad: "",
    plaintext: gcmPlaintext,
    sealed: gcmCiphertext + "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    name: "GCM test case 4 (AES-128, AAD, 60 bytes)",
    key: gcmKey,
    iv: gcmIv,
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    plaintext: gcmPlaintext.slice(0, 120),
    sealed: gcmCiphertext.slice(0, 120) + "5bc94fbc3221a5db94fae95ae7121a47",
  },
];
