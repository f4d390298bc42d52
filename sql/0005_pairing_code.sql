-- Pairing-code login (typing a code on the phone instead of scanning): the latest code and when it was issued.
ALTER TABLE whatsapp_accounts
    ADD COLUMN pairing_code    text,
    ADD COLUMN pairing_code_at timestamptz;
