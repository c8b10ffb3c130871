-- Every ban and unban of a user, kept: the users row holds only the current ban and the last unban,
-- so after ban, unban, ban, unban it no longer knew who lifted the first ban or why. A trigger writes
-- the history, so every path is in it: the refund worker's ban, an admin's unban, and a statement
-- typed by hand (which then shows with no admin and no reason).
CREATE TABLE IF NOT EXISTS user_ban_history (
    id          bigserial   PRIMARY KEY,
    user_id     uuid        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('banned', 'unbanned')),
    at          timestamptz NOT NULL,
    reason      text,
    decided_by  uuid,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS user_ban_history_by_user ON user_ban_history (user_id, id);

CREATE OR REPLACE FUNCTION record_user_ban_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.banned_at IS NOT NULL
       AND (TG_OP = 'INSERT' OR OLD.banned_at IS DISTINCT FROM NEW.banned_at) THEN
        INSERT INTO user_ban_history (user_id, action, at, reason)
        VALUES (NEW.id, 'banned', NEW.banned_at, NEW.ban_reason);
    ELSIF TG_OP = 'UPDATE' AND NEW.banned_at IS NULL AND OLD.banned_at IS NOT NULL THEN
        INSERT INTO user_ban_history (user_id, action, at, reason, decided_by)
        VALUES (NEW.id, 'unbanned', COALESCE(NEW.unbanned_at, now()), NEW.unban_reason,
                NEW.unbanned_by);
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS users_ban_history ON users;
CREATE TRIGGER users_ban_history
    AFTER INSERT OR UPDATE OF banned_at ON users
    FOR EACH ROW EXECUTE FUNCTION record_user_ban_history();
