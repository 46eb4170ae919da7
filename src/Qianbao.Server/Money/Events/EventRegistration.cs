using Qianbao.Server.Hosting;

namespace Qianbao.Server.Money.Events;

/// <summary>Wires the domain-event outbox into the host.</summary>
public static class EventRegistration
{
    /// <summary>
    /// Registers <see cref="EventOptions"/> (validated at start with every other section),
    /// <see cref="EventSignal"/> for producers to nudge after committing, and <see cref="EventRunner"/> as a singleton
    /// that is also the hosted service. Subscribers are added by their modules as <see cref="IEventSubscriber"/>
    /// singletons, in any order before the host is built.
    /// </summary>
    public static IServiceCollection AddDomainEvents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<EventOptions>(configuration, EventOptions.SectionName);
        services.AddSingleton<EventSignal>();
        services.AddSingleton<Pipeline.IEffectWriter, DomainEventWriter>();
        services.AddSingleton<EventRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRunner>());
        return services;
    }
}
