using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Notifications: the notifier (preferences, quiet hours, caps, inbox row, channel queues), the in-app inbox and its
/// stream, preferences and consents, and the subscriber that turns domain events into transaction notifications.
/// </summary>
internal static class NotificationsModule
{
    public static IServiceCollection AddNotificationsModule(this IServiceCollection services)
    {
        services.AddSingleton<NotificationFeed>();
        // The messaging rates: GET /admin/v1/messaging/kpis and the operator KPIs (Analytics) ask the same class.
        services.AddSingleton<Campaigns.MessagingKpis>();
        services.AddSingleton<UnsubscribeLinks>();
        services.AddSingleton<INotificationChannel, SmsNotificationChannel>();
        services.AddSingleton<INotificationChannel, EmailNotificationChannel>();
        services.AddSingleton<Notifier>();
        services.AddSingleton<Messaging.IMarketingConsent, MarketingConsentAtDelivery>();
        services.AddHostedService<NotificationListener>();
        services.AddSingleton<HeldNotifications>();
        services.AddHostedService<HeldNotificationReleaser>();
        services.AddSingleton<Identity.ISecurityAlerts, SecurityNotifications>();
        services.AddSingleton<Money.Events.IEventSubscriber, TransactionNotificationSubscriber>();
        services.AddSingleton<ExpiryReminders>();
        services.AddSingleton<MerchantFollows>();
        services.AddSingleton<ServiceMessages>();
        services.AddHostedService<ExpiryReminderSweeper>();
        services.AddSingleton<Money.Events.IEventSubscriber, Campaigns.MessagingPaymentsSubscriber>();
        services.AddSingleton<Campaigns.CampaignStore>();
        services.AddSingleton<Campaigns.CampaignAudience>();
        services.AddSingleton<Campaigns.CampaignSender>();
        services.AddSingleton<Campaigns.CampaignPersonalisation>();
        services.AddSingleton<Campaigns.CampaignWakeUp>();
        services.AddSingleton<Campaigns.TrackingLinks>();
        services.AddSingleton<Campaigns.IMerchantFollowers, Campaigns.FollowsOfMerchant>();
        services.AddHostedService<Campaigns.CampaignScheduler>();
        return services;
    }

    public static IEndpointRouteBuilder MapNotificationsModule(this IEndpointRouteBuilder app)
    {
        ListNotifications.Map(app);
        ReadNotifications.Map(app);
        NotificationPreferencesApi.Map(app);
        NotificationStream.Map(app);
        EditTemplates.Map(app);
        NotificationFeedback.Map(app);
        Unsubscribe.Map(app);
        FollowMerchant.Map(app);
        MerchantFollowers.Map(app);
        Campaigns.MessagingCampaignsApi.Map(app);
        Campaigns.CampaignResults.Map(app);
        Campaigns.NotificationActionApi.Map(app);
        Campaigns.TrackingLinks.Map(app);
        Campaigns.MessagingKpis.Map(app);
        return app;
    }
}
