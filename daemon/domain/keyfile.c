/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "keyfile.h"
#include "macro.h"
#include "secret.h"

static int read_key(int fd, uint8_t key[KEYFILE_KEY_SIZE], const char **why) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return *why = "cannot stat the key file", negative_errno();
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
                return *why = "the key file is not a regular file owned by the daemon's user", -EPERM;
        if (st.st_mode & 077)
                return *why = "the key file is readable or writable by others (want 0600)", -EPERM;
        if (st.st_size != KEYFILE_KEY_SIZE)
                return *why = "the key file does not hold exactly 32 bytes", -EINVAL;
        ssize_t n = read(fd, key, KEYFILE_KEY_SIZE);
        if (n != KEYFILE_KEY_SIZE) {
                acctsec_wipe(key, KEYFILE_KEY_SIZE);
                return *why = "cannot read the key file", n < 0 ? negative_errno() : -EIO;
        }
        return 0;
}

static int create_key(int dirfd, uint8_t key[KEYFILE_KEY_SIZE], const char **why) {
        _cleanup_close_ int fd = openat(dirfd, KEYFILE_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return *why = "cannot create the key file", negative_errno();
        randombytes_buf(key, KEYFILE_KEY_SIZE);
        /* Durable before anything is sealed with it. */
        if (write(fd, key, KEYFILE_KEY_SIZE) != KEYFILE_KEY_SIZE || fsync(fd) < 0 || fsync(dirfd) < 0) {
                int r = negative_errno();
                acctsec_wipe(key, KEYFILE_KEY_SIZE);
                (void) unlinkat(dirfd, KEYFILE_NAME, 0);
                return *why = "cannot write the key file", r;
        }
        return 0;
}

int keyfile_load(const char *state_dir, bool may_create, uint8_t key[KEYFILE_KEY_SIZE], const char **why) {
        _cleanup_close_ int dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
                return *why = "cannot open the state directory", negative_errno();
        _cleanup_close_ int fd = openat(dirfd, KEYFILE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && !may_create)
                return *why = "the key file is missing but the database holds secrets sealed with it "
                              "(restore secret.key from the backup taken with the database)",
                       -ENOKEY;
        if (fd < 0 && errno == ENOENT)
                return create_key(dirfd, key, why);
        if (fd < 0)
                return *why = "cannot open the key file (a symlink?)", negative_errno();
        return read_key(fd, key, why);
}

int keyfile_load_file(const char *path, uint8_t key[KEYFILE_KEY_SIZE], const char **why) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return *why = "the fleet key file is missing (every host of the fleet needs the same one; "
                              "see acctsec-fleet(7))",
                       -ENOKEY;
        if (fd < 0)
                return *why = "cannot open the fleet key file (a symlink?)", negative_errno();
        return read_key(fd, key, why);
}

void keyfile_id(const uint8_t key[KEYFILE_KEY_SIZE], char id[KEYFILE_ID_SIZE]) {
        static const char what[] = "acctsec fleet key id";
        uint8_t h[8];
        crypto_generichash(h, sizeof(h), (const uint8_t *) what, sizeof(what) - 1, key, KEYFILE_KEY_SIZE);
        sodium_bin2hex(id, KEYFILE_ID_SIZE, h, sizeof(h));
}

/* One subkey per purpose: a sealed TOTP secret cannot be replayed as anything else. */
static void subkey(const uint8_t key[KEYFILE_KEY_SIZE], uint8_t out[crypto_secretbox_KEYBYTES]) {
        crypto_kdf_derive_from_key(out, crypto_secretbox_KEYBYTES, 1, "acctsecV", key);
}

void vault_seal(const uint8_t key[KEYFILE_KEY_SIZE], const uint8_t *plain, size_t len, uint8_t *sealed) {
        uint8_t k[crypto_secretbox_KEYBYTES];
        subkey(key, k);
        randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, plain, len, sealed, k);
        acctsec_wipe(k, sizeof(k));
}

int vault_open(const uint8_t key[KEYFILE_KEY_SIZE], const uint8_t *sealed, size_t sealed_len, uint8_t *plain) {
        uint8_t k[crypto_secretbox_KEYBYTES];
        if (sealed_len < VAULT_OVERHEAD)
                return -EBADMSG;
        subkey(key, k);
        int r = crypto_secretbox_open_easy(plain, sealed + crypto_secretbox_NONCEBYTES,
                                           sealed_len - crypto_secretbox_NONCEBYTES, sealed, k);
        acctsec_wipe(k, sizeof(k));
        return r == 0 ? 0 : -EBADMSG;
}
