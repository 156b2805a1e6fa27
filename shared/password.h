/* Password hashing with yescrypt from libxcrypt. */
#ifndef CHAT_PASSWORD_H
#define CHAT_PASSWORD_H

/* Returns a malloc'd "$y$..." hash of password, or NULL on failure. */
char	*password_hash(const char *password);

/*
 * Returns 1 when password matches hash, 0 otherwise. Takes as long for a
 * wrong password as for a right one.
 */
int	 password_verify(const char *password, const char *hash);

#endif
