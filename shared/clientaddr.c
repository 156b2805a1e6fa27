#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientaddr.h"

/* An address, IPv4 ones (and IPv4-mapped IPv6 ones) as AF_INET. */
struct clientaddr_ip {
	int		 family;
	unsigned char	 a[16];
};

/* Parses s[0..len), blanks around it ignored. Returns 0 or -1. */
static int
clientaddr_ip_parse(const char *s, size_t len, struct clientaddr_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, buf, ip->a) == 1) {
		ip->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, ip->a) != 1)
		return -1;
	ip->family = AF_INET6;
	if (memcmp(ip->a, mapped, sizeof(mapped)) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->family = AF_INET;
	}
	return 0;
}

/* Whether ip is in spec[0..len): an address, or a network "addr/bits". */
static int
clientaddr_ip_matches(const struct clientaddr_ip *ip, const char *spec, size_t len)
{
	const char *slash = memchr(spec, '/', len);
	struct clientaddr_ip net;
	long bits;
	int max;

	if (clientaddr_ip_parse(spec, slash != NULL ? (size_t)(slash - spec) :
	    len, &net) == -1 || net.family != ip->family)
		return 0;
	max = ip->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		char *end;
		char tmp[8];
		size_t n = len - (size_t)(slash + 1 - spec);

		if (n == 0 || n >= sizeof(tmp))
			return 0;
		memcpy(tmp, slash + 1, n);
		tmp[n] = '\0';
		bits = strtol(tmp, &end, 10);
		if (*end != '\0' || bits < 0 || bits > max)
			return 0;
	}
	for (long i = 0; i < bits; i++) {
		unsigned char m = (unsigned char)(0x80 >> (i % 8));

		if ((ip->a[i / 8] & m) != (net.a[i / 8] & m))
			return 0;
	}
	return 1;
}

/* Whether ip is on the list of trusted proxies (spaces or commas). */
static int
clientaddr_ip_trusted(const char *p, const struct clientaddr_ip *ip)
{

	while (p != NULL && *p != '\0') {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len > 0 && clientaddr_ip_matches(ip, p, len))
			return 1;
		p += len;
	}
	return 0;
}

void
clientaddr_get(const char *trusted, const char *remote, const char *xff,
    char out[CLIENTADDR_SIZE])
{
	struct clientaddr_ip ip, hop;

	snprintf(out, CLIENTADDR_SIZE, "-");
	if (remote == NULL || clientaddr_ip_parse(remote, strlen(remote),
	    &ip) == -1)
		return;
	/* From the right: each entry was added by the hop before it. */
	for (size_t end = xff != NULL ? strlen(xff) : 0;
	    clientaddr_ip_trusted(trusted, &ip) && end > 0;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (clientaddr_ip_parse(xff + start, end - start, &hop) == -1)
			break;
		ip = hop;
		end = start > 0 ? start - 1 : 0;
	}
	inet_ntop(ip.family, ip.a, out, CLIENTADDR_SIZE);
}
