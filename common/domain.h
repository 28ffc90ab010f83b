/*
 * domain - domain names as the DNS and DMARC compare them
 *
 * domain_alabel() turns a domain from a message (U-labels allowed, any
 * case, a trailing dot) into lower-case A-labels (IDNA2008 with the UTS #46
 * mapping, libidn2), the form DMARC requires the From domain in (RFC 9989
 * section 5.3.1) and the only form the resolver looks up.  Anything that is
 * not a host name gives NULL.
 */
#ifndef MW_DOMAIN_H
#define MW_DOMAIN_H

/* Caller frees; NULL when domain is not a valid (internationalised) host name. */
char *domain_alabel(const char *domain);

#endif
