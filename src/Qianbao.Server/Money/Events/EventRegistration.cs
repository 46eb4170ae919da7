namespace Qianbao.Server.Money.Events;

/// <summary>Wires the domain-event outbox into the host.</summary>
public static class EventRegistration
{
    /// <summary>
    /// Registers <see cref="EventOptions"/> (validated now: a bad value stops the start with a message naming the key),
    /// <see cref="EventSignal"/> for producers to nudge after committing, and <see cref="EventRunner"/> as a singleton
    /// that is also the hosted service. Subscribers are added by their modules as <see cref="IEventSubscriber"/>
    /// singletons, in any order before the host is built.
    /// </summary>
    public static IServiceCollection AddDomainEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(EventOptions.Load(configuration));
        services.AddSingleton<EventSignal>();
        services.AddSingleton<Pipeline.IEffectWriter, DomainEventWriter>();
        services.AddSingleton<EventRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRunner>());
        return services;
    }
}
