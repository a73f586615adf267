package org.imagingfacade.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.apache.ApacheRestfulClientFactory;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.apache.http.HttpResponseInterceptor;
import org.apache.http.client.config.RequestConfig;
import org.apache.http.conn.DnsResolver;
import org.apache.http.impl.client.HttpClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The HTTP client HAPI delivers rest-hook notifications with (its FhirContext's client factory).
 *
 * <p>The gateway checks a Subscription's endpoint when it is created; HAPI resolves the name again
 * at every delivery, and its default client follows a {@code 303 See Other} with a GET to wherever
 * the endpoint points. So here, at delivery time: no redirect is ever followed, and the client
 * connects only to the addresses this resolver returned, each of them public unicast or within
 * {@code HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES} (a name that resolves to any other address is not
 * delivered to at all: DNS rebinding).
 */
@Configuration
public class SubscriptionDelivery {

	private static final Logger log = LoggerFactory.getLogger(SubscriptionDelivery.class);
	private static final int TIMEOUT_MS = 10_000;

	@Bean
	public SmartInitializingSingleton subscriptionDeliveryClient(FhirContext fhirContext, FacadeSettings settings) {
		return () -> {
			ApacheRestfulClientFactory factory = new ApacheRestfulClientFactory(fhirContext);
			factory.setHttpClient(HttpClients.custom()
					.disableRedirectHandling()
					.addInterceptorLast(FAILED_ANSWER)
					.setDnsResolver(new CheckedResolver(settings.subscriptionAllowedAddresses()))
					.setDefaultRequestConfig(RequestConfig.custom()
							.setConnectTimeout(TIMEOUT_MS)
							.setSocketTimeout(TIMEOUT_MS)
							.setConnectionRequestTimeout(TIMEOUT_MS)
							.build())
					.build());
			fhirContext.setRestfulClientFactory(factory);
			log.info("rest-hook delivery: redirects not followed; addresses allowed besides public unicast: {}",
					settings.subscriptionAllowedAddresses().isEmpty() ? "none" : String.join(",", settings.subscriptionAllowedAddresses()));
		};
	}

	/**
	 * An endpoint that answers 5xx, 429 or 408 has not taken the notification. HAPI 8.8 ignores the
	 * status of a rest-hook answer, so such a notification was lost (a receiver restarting during a
	 * deploy); as a failed delivery it is sent again, as one whose connection failed already was.
	 * Other statuses (a 404 of a wrong path) would fail the same way every time: not retried.
	 */
	static final HttpResponseInterceptor FAILED_ANSWER = (response, context) -> {
		int status = response.getStatusLine().getStatusCode();
		if (status >= 500 || status == 429 || status == 408) {
			throw new IOException("the rest-hook endpoint answered HTTP " + status + ": the notification is delivered again");
		}
	};

	/** Resolves a host and refuses it whole when any of its addresses is not allowed. */
	static final class CheckedResolver implements DnsResolver {
		private final List<Cidr> allowed = new ArrayList<>();

		CheckedResolver(List<String> allowedCidrs) {
			for (String cidr : allowedCidrs) {
				allowed.add(Cidr.parse(cidr));
			}
		}

		@Override
		public InetAddress[] resolve(String host) throws UnknownHostException {
			InetAddress[] addresses = InetAddress.getAllByName(host);
			for (InetAddress address : addresses) {
				if (!isPublic(address) && allowed.stream().noneMatch(cidr -> cidr.contains(address))) {
					log.warn("rest-hook delivery refused: a host resolves to the non-public address {}", address.getHostAddress());
					throw new UnknownHostException("delivery refused: not a public address");
				}
			}
			return addresses;
		}
	}

	/** Public unicast: not loopback, link-local, private, ULA, CGNAT, unspecified, multicast, reserved, nor IPv6 that embeds IPv4. */
	static boolean isPublic(InetAddress address) {
		if (address.isAnyLocalAddress() || address.isLoopbackAddress() || address.isLinkLocalAddress()
				|| address.isSiteLocalAddress() || address.isMulticastAddress()) {
			return false;
		}
		byte[] b = address.getAddress();
		if (address instanceof Inet4Address) {
			int a0 = b[0] & 0xff;
			int a1 = b[1] & 0xff;
			int a2 = b[2] & 0xff;
			return !(a0 == 0 || a0 >= 240 // this network; reserved and broadcast
					|| (a0 == 100 && (a1 & 0xc0) == 64) // CGNAT 100.64/10
					|| (a0 == 192 && a1 == 0 && (a2 == 0 || a2 == 2)) // IETF protocol assignments, TEST-NET-1
					|| (a0 == 198 && (a1 & 0xfe) == 18) // benchmarking 198.18/15
					|| (a0 == 198 && a1 == 51 && a2 == 100) || (a0 == 203 && a1 == 0 && a2 == 113)); // TEST-NET-2/3
		}
		if (address instanceof Inet6Address) {
			int w0 = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
			int w1 = ((b[2] & 0xff) << 8) | (b[3] & 0xff);
			boolean firstTwelveZero = true;
			for (int i = 0; i < 12; i++) {
				firstTwelveZero &= b[i] == 0;
			}
			return !((b[0] & 0xfe) == 0xfc // ULA fc00::/7
					|| (w0 == 0x64 && w1 == 0xff9b) // NAT64 64:ff9b::/96
					|| w0 == 0x2002 // 6to4
					|| (w0 == 0x2001 && (w1 == 0 || w1 == 0xdb8)) // Teredo, documentation
					|| firstTwelveZero); // IPv4-compatible ::/96
		}
		return false;
	}

	/** An address range, {@code 10.20.0.0/16}, {@code fd12::/48}, or one address. */
	record Cidr(byte[] network, int bits) {
		static Cidr parse(String text) {
			String[] parts = text.trim().split("/", 2);
			if (!parts[0].matches("[0-9A-Fa-f:.]+")) {
				throw new IllegalArgumentException("HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES: not a CIDR: " + text);
			}
			try {
				byte[] network = InetAddress.getByName(parts[0]).getAddress();
				int bits = parts.length == 2 ? Integer.parseInt(parts[1]) : network.length * 8;
				if (bits < 0 || bits > network.length * 8) {
					throw new IllegalArgumentException("HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES: not a CIDR: " + text);
				}
				return new Cidr(network, bits);
			} catch (UnknownHostException | NumberFormatException e) {
				throw new IllegalArgumentException("HAPI_SUBSCRIPTION_ALLOWED_ADDRESSES: not a CIDR: " + text, e);
			}
		}

		boolean contains(InetAddress address) {
			byte[] candidate = address.getAddress();
			if (candidate.length != network.length) {
				return false;
			}
			for (int bit = 0; bit < bits; bit++) {
				int mask = 0x80 >> (bit % 8);
				if ((candidate[bit / 8] & mask) != (network[bit / 8] & mask)) {
					return false;
				}
			}
			return true;
		}
	}
}
