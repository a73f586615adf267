package org.imagingfacade.hapi;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.IInterceptorService;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Subscription;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Refuses a Subscription that asks HAPI to send resources itself when it fires: its
 * {@code subscription-payload-search-criteria} extension makes HAPI run any search and POST the
 * results to the endpoint, with no token, compartment or consent check, and a payload
 * ({@code channel.payload}) sends the matched resource. Notifications of this node carry nothing;
 * the subscriber reads through the gateway. The gateway refuses both already; this holds for any
 * other writer that reaches the server.
 */
@Configuration
public class SubscriptionPayloadGuard {

	static final String PAYLOAD_SEARCH_CRITERIA = "http://hapifhir.io/fhir/StructureDefinition/subscription-payload-search-criteria";

	@Bean
	public SmartInitializingSingleton subscriptionPayloadGuardRegistration(IInterceptorService interceptorService) {
		return () -> interceptorService.registerInterceptor(this);
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_CREATED)
	public void created(IBaseResource resource) {
		check(resource);
	}

	@Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED)
	public void updated(IBaseResource oldResource, IBaseResource newResource) {
		check(newResource);
	}

	static void check(IBaseResource resource) {
		if (!(resource instanceof Subscription subscription)) {
			return;
		}
		if (subscription.hasExtension(PAYLOAD_SEARCH_CRITERIA)) {
			throw new UnprocessableEntityException("Subscription: the payload search extension is not accepted on this server (notifications carry no resources)");
		}
		if (subscription.getChannel().hasPayload()) {
			throw new UnprocessableEntityException("Subscription.channel.payload: notifications carry no resources on this server");
		}
	}
}
